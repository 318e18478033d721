"""Fixtures the security tests borrow from other areas' test packages."""
from tests.api.test_attachments import store  # noqa: F401
from tests.open311_facade.conftest import make_key  # noqa: F401
from tests.security.test_access import sleman_things  # noqa: F401
from tests.ui.conftest import bantul_officer, make_user  # noqa: F401

"""Every page a browser test visits is checked with axe-core and saved as a screenshot.

`AuditedPage` wraps a playwright page. Before each use it asks whether the document shown
now was checked yet (the check leaves a mark on `window`, which a new document does not
have); if not, it waits for the page to load, saves a full-page screenshot under
var/test-artifacts/<backend>/<test>/ and runs axe-core on it. A serious or critical
finding fails the test, naming each rule, the elements it found and what is wrong.

axe-core comes from npm, installed by scripts/ensure-services into var/npm (no test
downloads anything). It is injected as an init script: the hub's Content-Security-Policy
allows no inline <script>, and the check must see the pages as officers get them.
"""
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = Path(os.environ.get("HUB_TEST_AXE_JS",
                             ROOT / "var/npm/node_modules/axe-core/axe.min.js"))
ARTIFACTS = ROOT / "var/test-artifacts"
FAILING = ("serious", "critical")
SHOWN_NODES = 6

_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  window.__hubAudited = true;
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({
      target: n.target.map(String),
      summary: (n.failureSummary || "").split("\\n").slice(0, 2).join(" ")}))
  }));
}"""
# A document that has just replaced the last one may have no root element yet.
_WHERE = """() => ({path: location.pathname + location.search,
                    lang: document.documentElement?.lang || "",
                    width: window.innerWidth, audited: window.__hubAudited === true})"""


def _gone(exc: PlaywrightError) -> bool:
    """True when a navigation replaced the document while we looked at it."""
    text = str(exc)
    return any(sign in text for sign in ("context was destroyed", "Cannot find context",
                                         "navigat", "detached"))


def findings_text(url: str, violations: list[dict]) -> str:
    lines = [f"axe-core: serious or critical findings on {url}"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:SHOWN_NODES]:
            lines.append(f"    {' '.join(node['target'])}: {node['summary']}")
        if len(v["nodes"]) > SHOWN_NODES:
            lines.append(f"    … and {len(v['nodes']) - SHOWN_NODES} more")
    return "\n".join(lines)


class Artifacts:
    """One test's folder of screenshots, numbered in the order the pages were seen."""

    def __init__(self, folder: Path):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.folder, self.count = folder, 0

    def next_path(self, name: str) -> Path:
        self.count += 1
        return self.folder / f"{self.count:02d}-{name}"


class AuditedPage:
    def __init__(self, page, context, artifacts: Artifacts):
        self._page, self._context, self._artifacts = page, context, artifacts

    def __getattr__(self, name):
        self.settle()
        return getattr(self._page, name)

    def settle(self):
        """Check the document shown now, unless that was done already."""
        if self._page.url == "about:blank":  # a new page, before its first goto
            return
        for _ in range(5):
            try:
                self._page.wait_for_load_state("load")
                if not self._page.evaluate(_WHERE)["audited"]:
                    self.audit()
                return
            except PlaywrightError as exc:
                if not _gone(exc):
                    raise
                self._page.wait_for_load_state("load")
        raise AssertionError(f"{self._page.url} kept navigating; it was never checked")

    def audit(self, label: str | None = None):
        """Screenshot and check the page as it is now (also after in-page changes)."""
        page = self._page
        where = page.evaluate(_WHERE)
        slug = re.sub(r"[^a-z0-9]+", "-", (label or where["path"]).lower()).strip("-")[:60]
        base = self._artifacts.next_path(f"{where['lang']}-{where['width']}-{slug or 'root'}")
        page.screenshot(path=f"{base}.png", full_page=True)
        violations = page.evaluate(_RUN)
        if violations:
            Path(f"{base}.axe.json").write_text(
                json.dumps({"url": page.url, "violations": violations}, indent=1,
                           ensure_ascii=False), encoding="utf-8")
        failing = [v for v in violations if v["impact"] in FAILING]
        if failing:
            pytest.fail(findings_text(page.url, failing), pytrace=False)

    def close(self):
        """Check the last page shown, then close the browser context."""
        self.settle()
        self._context.close()


def page_opener(browser, request):
    """open(width, height, **context options) -> an AuditedPage in a new context; the
    contexts left open (a test that failed half-way) are closed after the test."""
    if not AXE_JS.is_file():
        pytest.fail(f"no axe-core at {AXE_JS}: run `make services` (scripts/ensure-services)",
                    pytrace=False)
    backend = request.config.getoption("--backend")
    artifacts = Artifacts(ARTIFACTS / backend / request.node.name)
    contexts = []

    def open_page(width=1366, height=900, **options):
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        contexts.append(context)
        context.add_init_script(path=str(AXE_JS))
        return AuditedPage(context.new_page(), context, artifacts)

    return open_page, contexts

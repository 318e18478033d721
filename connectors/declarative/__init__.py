"""The parts the declarative REST connector (connectors/rest.py) is built from, one job
each, in the manner of Airbyte's low-code framework: who we are (auth), which page comes
next (paginate), where the records are in an answer (select), how the changed-since value
is written (cursor), and which parent records a stream is read under (partition)."""

"""The sync engine: runs connectors, maps records, keeps cursors, pushes hub changes out."""

"""Stage 1, ingest: read any question file into a table (io.read_table), sniffing its kind,
encoding, delimiter, header and sheet, telling its role (collection or labelled pairs) and
summarising it (dataset, summary). Nothing here knows about models."""

"""Example cells a cell author might write (issue 19), for `--cell tests.user_cells...`."""

"""The cells of the declared divergences that only a user's cell reaches (--cell).

Some root causes need a cell the suite never draws for a layer row (a matrix state, a
tf_keras cell that reads constants), so their minimal examples are user-cell cases. A
case is data: its "module:Class" is never imported on the case's word. A declared
entry's user-cell case may name only a class of the modules here (`KNOWN_CELL_MODULES`),
which ship with the suite, so replaying it (conformance/properties/test_known_divergences.py)
imports the suite's own code. tests/user_cells re-exports them as example cells.
"""

from cells.module_names import KNOWN_CELL_MODULES, is_known_cell  # noqa: F401 (named here, where the cells are)

"""One results model and its renderings: the matrix, the JSON report, the backend table, the
contract's areas."""

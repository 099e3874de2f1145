"""CONTRACT.md as code: the NumPy references (function, gradient, layer, user cell) and the
definitions they share."""

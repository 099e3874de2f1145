"""A finding as a standalone script, and its replay: reproducers for function, gradient and
OpenVINO rows, saved cases read back, declared entries replayed."""

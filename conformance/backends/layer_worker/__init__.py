"""The `RNN` layer rows: each Keras runs in its own worker process (see worker.py)."""

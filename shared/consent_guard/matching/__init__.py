"""PDQ matching: the index snapshot format (numpy-free, written by the bank index function) and the index and
matcher (numpy: imported only by the media matching function, so no other function's cold start grows)."""

"""HLS emitters, one module per layer kind (registered in compiler.backends.hls.registry)."""

from compiler.backends.hls.emitters import mvtu, thresholding, sliding_window, maxpool, label_select, avgpool, vvau, streams  # noqa: F401  (each registers itself)

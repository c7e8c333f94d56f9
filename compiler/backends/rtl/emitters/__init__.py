"""RTL emitters, one module per layer kind (registered in compiler.backends.rtl.registry)."""

from compiler.backends.rtl.emitters import avgpool, label_select, maxpool, mvtu, sliding_window, streams, thresholding, vvau  # noqa: F401  (each registers itself)

"""HLS emitters, one module per layer kind, each registered in compiler.backends.hls.registry; importing this
package loads them all, so `emitters.get(kind)` returns a kind's emitter or an error naming the kinds that have one."""
from compiler.backends.hls.emitters import (avgpool, label_select, maxpool, mvtu, sliding_window,  # noqa: F401
                                            streams, thresholding, vvau)
from compiler.backends.hls.registry import Emitter, emitter, get, kinds  # noqa: F401

// bnnc HLS library: every streaming layer of the dataflow IR (docs/ir.md) plus stream plumbing.
#ifndef BNNC_BNNC_HPP
#define BNNC_BNNC_HPP

#include "types.hpp"
#include "mvtu.hpp"
#include "thresholding.hpp"
#include "sliding_window.hpp"
#include "maxpool.hpp"
#include "label_select.hpp"
#include "avgpool.hpp"
#include "vvau.hpp"
#include "branches.hpp"
#include "streams.hpp"

#endif

"""Compressing a user's model into bnnc students (after Learn2Compress, MorphNet and the BNN literature).

One job per module: `teacher` (load the float teacher), `hooks` (capture intermediate features), `losses`
(distillation losses), `joint` (train several students against one teacher forward per batch), `hwcost`
(the compiler's cost model as a function of a model or of its layer widths), `surgery` (keep a subset of
channels), `morphnet` (cost-weighted L1 width search), `prune` (magnitude baseline), `lowrank` (SVD
factorisation of FC layers), `pareto` (accuracy-vs-LUT front and plot).
"""

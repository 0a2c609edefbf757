"""jitteredge: detect and map camera shake in photos (patent CN109671061A, Gong et al. CVPR 2017)."""

__version__ = "0.1.0"

"""ImageNet's pixel statistics: the one definition every default uses."""

#: Per-channel mean and std of ImageNet's RGB pixels (0-255), as mmpretrain's
#: data preprocessors normalise; what a checkpoint without a config was most
#: likely trained with.
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)

#: The same on timm's 0-1 scale (its ``pretrained_cfg``).
IMAGENET_MEAN_UNIT = tuple(round(v / 255, 3) for v in IMAGENET_MEAN)
IMAGENET_STD_UNIT = tuple(round(v / 255, 3) for v in IMAGENET_STD)

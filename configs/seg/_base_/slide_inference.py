# Add to a config's _base_ list (after the config) to test with a 512x512 sliding window
# (stride 341) instead of the whole image.
model = dict(test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))

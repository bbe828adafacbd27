_base_ = 'mmdet::_base_/datasets/coco_instance.py'

# mmdet's CocoDataset that also logs how many degenerate boxes and polygons it drops.
train_dataloader = dict(dataset=dict(type='rmt_mm.CocoDataset'))
val_dataloader = dict(dataset=dict(type='rmt_mm.CocoDataset'))
test_dataloader = val_dataloader

_base_ = 'mmdet::_base_/datasets/coco_instance.py'

# mmdet's CocoDataset that also logs how many degenerate boxes and polygons it drops.
# In mmdet's scope (its pipeline's transforms), also when inherited as 'rmt_mm::...'.
train_dataloader = dict(dataset=dict(_scope_='mmdet', type='rmt_mm.CocoDataset'))
val_dataloader = dict(dataset=dict(_scope_='mmdet', type='rmt_mm.CocoDataset'))
test_dataloader = val_dataloader

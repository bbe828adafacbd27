"""The runner layer of rmt_mm's tools, a module per concern: the checks a config passes before
anything is built (:mod:`.checks`), the command line (:mod:`.cli`), the device policy
(:mod:`.device`), process groups (:mod:`.dist`), loading a config and building its runner or
model (:mod:`.runner`), parameter and FLOP counts (:mod:`.analysis`) and timing
(:mod:`.timing`)."""
from .checks import (
    check_checkpoint_path,
    check_class_order,
    check_data_paths,
    check_model_channels,
    check_num_classes,
    class_count_fields,
    evaluators_follow_datasets,
)
from .cli import add_common_args, setup_config
from .device import adapt_to_cpu, gpu_requirements, prepare_device
from .dist import close_process_group, init_cpu_process_group
from .runner import build_model, build_runner, load_config, work_dir_for

__all__ = ['add_common_args', 'adapt_to_cpu', 'build_model', 'build_runner',
           'check_checkpoint_path', 'check_class_order', 'check_data_paths',
           'check_model_channels', 'check_num_classes', 'class_count_fields',
           'close_process_group', 'evaluators_follow_datasets', 'gpu_requirements',
           'init_cpu_process_group', 'load_config', 'prepare_device', 'setup_config',
           'work_dir_for']

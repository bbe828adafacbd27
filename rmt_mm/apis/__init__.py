"""The runner layer of rmt_mm's tools: config loading, the checks a config passes before
anything is built (:mod:`.checks`), building a config's model, adapting a GPU config to the
machine, process groups and building the runner (used by tools/train.py, tools/test.py and
the other tools)."""
from .checks import (
    check_checkpoint_path,
    check_class_order,
    check_data_paths,
    check_model_channels,
    check_num_classes,
    class_count_fields,
    evaluators_follow_datasets,
)
from .runner import (
    adapt_to_cpu,
    add_common_args,
    build_model,
    build_runner,
    close_process_group,
    gpu_requirements,
    init_cpu_process_group,
    load_config,
    prepare_device,
    setup_config,
    work_dir_for,
)

__all__ = ['add_common_args', 'adapt_to_cpu', 'build_model', 'build_runner',
           'check_checkpoint_path', 'check_class_order', 'check_data_paths',
           'check_model_channels', 'check_num_classes', 'class_count_fields',
           'close_process_group', 'evaluators_follow_datasets', 'gpu_requirements',
           'init_cpu_process_group', 'load_config', 'prepare_device', 'setup_config',
           'work_dir_for']

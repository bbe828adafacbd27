"""The runner layer of rmt_mm's tools: config loading and checks, building a config's model,
adapting a GPU config to the machine, process groups and building the runner (used by
tools/train.py, tools/test.py and the other tools)."""
from .runner import (
                     adapt_to_cpu,
                     add_common_args,
                     build_model,
                     build_runner,
                     check_checkpoint_path,
                     check_data_paths,
                     check_model_channels,
                     check_num_classes,
                     close_process_group,
                     gpu_requirements,
                     init_cpu_process_group,
                     load_config,
                     prepare_device,
                     setup_config,
                     work_dir_for,
)

__all__ = ['add_common_args', 'adapt_to_cpu', 'build_model', 'build_runner',
           'check_checkpoint_path', 'check_data_paths', 'check_model_channels',
           'check_num_classes', 'close_process_group', 'gpu_requirements',
           'init_cpu_process_group', 'load_config', 'prepare_device', 'setup_config',
           'work_dir_for']

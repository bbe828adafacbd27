"""Process groups of CPU jobs (gloo) started by torchrun, and leaving them cleanly."""
import torch
from mmengine.config import Config


def init_cpu_process_group(cfg: Config):
    """Join the gloo process group of a CPU job started by torchrun.

    mmengine's pytorch launcher calls ``torch.cuda.set_device`` first, which fails without a
    GPU; the runner skips its own initialisation when a group already exists.
    """
    import torch.distributed as dist
    if cfg.get('launcher', 'none') == 'pytorch' and not torch.cuda.is_available() \
            and not dist.is_initialized():
        dist.init_process_group(backend='gloo')


def close_process_group():
    """Leave the process group once every rank is done.

    A rank whose interpreter exits with the group still alive destroys gloo's worker threads
    during shutdown while a slower rank may still talk to it; that can abort the process after
    a finished run ("terminate called without an active exception"). The barrier lets every
    rank finish first; the explicit destroy ends the group's threads before exit.
    """
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()

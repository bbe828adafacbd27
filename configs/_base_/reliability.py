# What every rmt_mm training run gets (README, "Reliability"); the task runtimes use these.
# Checkpoints (and the last_checkpoint pointer) are written to a temporary file and renamed:
# a job killed while writing never leaves a truncated file under a checkpoint's name.
atomic_checkpoints = dict(backend='rmt_mm_atomic_local')
# The random state of every process goes into each checkpoint and comes back on --resume, so
# a resumed run continues exactly as the uninterrupted one would have.
random_state_hook = dict(type='rmt_mm.RandomStateHook')
# A NaN/Inf loss skips that update (logged with the iteration and the loss terms, counted),
# as the official fp16 training's dynamic loss scaling skips overflowing steps; 20 in a row
# stop the run (diverged). action='raise' stops at the first one.
finite_loss_hook = dict(type='rmt_mm.FiniteLossHook', action='skip', max_consecutive=20)

"""Safe checkpoints: ``rg.save`` / ``rg.load``.

Arrays go into a safetensors file (no pickle: loading a checkpoint never runs
code); everything else -- the user's metadata (epoch …), the optimizer's
hyper-parameters and counters, the scheduler, the RNG state, the callbacks'
state -- is JSON in the file's header, under ``__metadata__["retrograd"]``,
beside ``__metadata__["retrograd_sha256"]``, the SHA-256 of that JSON text.
The JSON lists every tensor with its dtype, shape and the SHA-256 of its bytes.

Loading trusts nothing in the file. It checks the safetensors layout (dtypes
from a fixed list, shapes, offsets that tile the data exactly), the header
checksum, each tensor's dtype, shape and checksum, and the type of every
field; anything wrong raises ``CheckpointError``. The layout is checked
against the file's size before any tensor is read (a padded or short file
costs no more than its header), and each tensor is read straight into its
array, without a copy of the file. Nothing read from a file is
ever executed or used as an attribute name. Then every piece (model,
optimizer, scheduler, RNG, callbacks) is built and checked against its target
before the first one is assigned, so a failed load leaves them all as they
were.

The write is atomic: the bytes go to a temporary file in the same folder,
which is flushed, fsync'ed and renamed over the target (then the folder is
fsync'ed). A crash or a kill at any moment leaves either the previous
checkpoint or the new one; the temporary a killed writer left behind
(``.NAME.retrograd-PID-XXXXXXXX.tmp``, its writer gone) is removed by the next
save of the same checkpoint. The file's mode is what ``torch.save`` gives:
from the umask for a new file, the replaced file's for an existing one.
"""

from .format import FORMAT, VERSION, CheckpointError, CheckpointMismatchError  # noqa: F401
from .reading import read  # noqa: F401
from .restore import load, restore  # noqa: F401
from .writing import save  # noqa: F401

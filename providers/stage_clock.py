"""Old home of `gates.stage_clock`, kept because stacks deployed before the move hold dynamic providers pickled
under this module path; the engine unpickles them for diff, read and delete. Remove after every stack has
run one `pulumi up` on the new layout (see the README's "Moved modules")."""

import sys

from gates import stage_clock

sys.modules[__name__] = stage_clock

"""Engine events other packages subscribe to (notifications, SLA, statistics) without the engine knowing them.

Each is sent inside the transaction that caused it, after the change is flushed; receivers may write rows
in the same transaction (they commit or roll back together with the change).
"""

from blinker import Namespace

_signals = Namespace()

#: sender = HumanTask just created (a new task waits in someone's inbox)
task_created = _signals.signal("task-created")
#: sender = HumanTask just completed; kwargs: actor
task_completed = _signals.signal("task-completed")
#: sender = ProcessInstance that reached its end
instance_completed = _signals.signal("instance-completed")

"""Engine events other packages subscribe to (notifications, SLA, statistics) without the engine knowing them.

Each is sent inside the transaction that caused it; receivers may change the sender and add rows in the
same transaction (they commit or roll back together with the change). ``task_created`` is sent *before*
the step's flush: the row has no id yet, so receivers link their rows to it by relationship, and whatever
they set on it goes into its INSERT.
"""

from blinker import Namespace

_signals = Namespace()

#: sender = HumanTask just created (a new task waits in someone's inbox)
task_created = _signals.signal("task-created")
#: sender = HumanTask just completed; kwargs: actor
task_completed = _signals.signal("task-completed")
#: sender = ProcessInstance that reached its end
instance_completed = _signals.signal("instance-completed")
#: sender = ProcessInstance whose waiting timer was due later than its definition allows (armed by a clock that ran
#: ahead) and was given a due time recomputed from now; kwargs: element, attached_to (the activity of a boundary
#: timer, or None), was, due (app.engine.timers.correct_dues_ahead)
timer_corrected = _signals.signal("timer-corrected")

from exchange.engine.book cimport Ladder, Level
from exchange.engine.stream cimport EventStream

# The levels a command changed, for its BookChanged events (changes.pyx).

cdef class LevelChanges:
    cdef list touched
    cdef long long command_no
    cdef void begin(self)
    cdef bint any(self)
    cdef set symbols(self)
    cdef touch(self, Level level)
    cdef Level new_level(self, Ladder ladder, long long price)
    cdef publish(self, EventStream stream)

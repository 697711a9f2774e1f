# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The price levels one command changed, and their BookChanged events.

Invariant: `touched` holds each level the current command changed, once, in the order it was
first touched, each with its displayed total from before the command (`Level.before`). A
level that the command emptied and dropped and then made again at the same place is one entry
(the new level takes the old one's place and its total from before). After the command,
`publish` emits one BookChanged per touched level whose total moved. Costs: `touch` O(1),
`new_level` O(levels touched by this command), `publish` O(levels touched).
"""

from exchange.engine.book cimport Ladder, Level
from exchange.engine.stream cimport EventStream


cdef class LevelChanges:
    """The levels touched by the command being carried out."""

    def __cinit__(self):
        self.touched = []

    cdef void begin(self):
        """A new command: no level is touched by it yet."""
        self.command_no += 1

    cdef bint any(self):
        return len(self.touched) > 0

    cdef set symbols(self):
        """The instruments whose levels the command touched. O(levels touched)."""
        cdef Level level
        return {level.symbol for level in self.touched}

    cdef touch(self, Level level):
        """Note a level about to change, with its displayed total before the command."""
        if level.mark != self.command_no:
            level.mark = self.command_no
            level.before = level.total
            self.touched.append(level)

    cdef Level new_level(self, Ladder ladder, long long price):
        """A new level on `ladder` at `price` (which has none); if this command emptied (and
        dropped) one at the same place, the new one takes its place in the touched list and
        keeps its total from before."""
        cdef Level level = ladder.make(price)
        cdef Level seen
        cdef Py_ssize_t i
        for i in range(len(self.touched)):
            seen = self.touched[i]
            if seen.price == price and seen.c_side == ladder.c_side and seen.symbol == ladder.symbol:
                self.touched[i] = level
                level.mark, level.before = self.command_no, seen.before
                break
        return level

    cdef publish(self, EventStream stream):
        """One BookChanged per touched level whose total moved (a dropped level is empty)."""
        cdef Level level
        cdef long long total
        touched, self.touched = self.touched, []
        for level in touched:
            total = level.total if level.count else 0
            if total != level.before:
                stream.book_changed(level, total)

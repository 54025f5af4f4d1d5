"""The capacity family: a second, independent generating process (PROCESS.md beside this file).

The August intake fills the places freed by the age shift and school leavers, up to approved
capacity as far as the waiting list allows, with a rolling intake through the year; its own moves
(a summer peak), shocks (new housing, places closed for repairs), staffing (planned each August,
corrected in January, vacancies between) and sick leave (a district winter epidemic). Everything
it makes is SIMULATED and labelled so (``source`` = ``simulated:capacity:seed=<seed>``).
"""

from simulate.capacity.simulation import continue_capacity, run_capacity, simulate_capacity

__all__ = ["continue_capacity", "run_capacity", "simulate_capacity"]

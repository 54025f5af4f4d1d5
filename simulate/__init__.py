"""The simulated district: a documented generating process (see PROCESS.md beside this file)
that follows DOMAIN.md and makes data sets with the contract's tables plus the ground truth used.

Everything it makes is SIMULATED and labelled so: ``District.simulated`` is true, ``source`` is
``simulated:<preset>:seed=<seed>``, kindergarten names end in "(simulated)", kindergartens and
monthly carry a ``simulated`` column, and written folders get a SIMULATED.md label. The only real
input is Statistics Norway's population of Oslo aged 0–5 by district (``data/real``).

    >>> sim = simulate_district("district", seed=1, n_kindergartens=8)
    >>> sim.district.monthly.columns[:4].tolist()
    ['kindergarten_id', 'month', 'children_under3', 'children_over3']
"""

from simulate.output import write_simulation
from simulate.simulation import Simulation, simulate_district

__all__ = ["Simulation", "simulate_district", "write_simulation"]

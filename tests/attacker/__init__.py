"""An independent attacker: what a suppressed viewer can work out from everything shown to them.

It reads only shown text (pages, the board report, exports), turns every number it can parse into a
constraint on the exact counts, and solves an integer program (scipy.optimize.milp, HiGHS) for the
smallest and largest value of every hidden cell. It imports nothing of the suppression engine or its
audit, so a mistake there cannot hide itself here.

- `numbers`: what a shown string says about a number (a whole count, a rounded share, a label).
- `program`: the integer program, its constraints (counts, sums, shares, rates, ratios) and the solves.
"""

"""The melodies' content judge, side by side: a musician's features against the perceptual map.

Two measurements on the melody swipers (`plgl.bench.swipers`: "roll-linear", "target",
"qualities"), each kind and seed answered by both judges (`MelodyGenerator.judge_features`:
contour, register, rhythm, pitch classes, intervals, durations; the judge before read the
perceptual map, the decoder's soft tokens): `--part neighbours`, the judge's rank correlation
with the true taste among a champion's neighbours, and `--part swipers`, the swipers suite's
For-you and favourite through the web app's cards (`benchmarks/judges.py` says how each is
measured).

    OMP_NUM_THREADS=1 nice python benchmarks/melody_judge.py --part neighbours --seeds 0-11
    OMP_NUM_THREADS=1 nice python benchmarks/melody_judge.py --part swipers --seeds 0-11
"""

from __future__ import annotations

from judges import main

from plgl.generators.melodies import MelodyGenerator

if __name__ == "__main__":
    main("melodies", "musician", MelodyGenerator, __doc__, "0-5", "the features' weight to try")

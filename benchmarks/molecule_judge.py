"""The molecules' content judge, side by side: atom-pair fingerprints against the perceptual map.

Two measurements on the molecule swipers (`plgl.bench.swipers`: "fingerprint", "target",
"profile"), each kind and seed answered by both judges (`MoleculeGenerator.judge_features`:
square-root atom-pair counts; the judge before read the perceptual map, the decoder's soft
tokens): `--part neighbours`, the judge's rank correlation with the true taste among a
champion's neighbours, and `--part swipers`, the swipers suite's For-you and favourite through
the web app's cards (`benchmarks/judges.py` says how each is measured).

    OMP_NUM_THREADS=1 nice python benchmarks/molecule_judge.py --part neighbours --seeds 0-9
    OMP_NUM_THREADS=1 nice python benchmarks/molecule_judge.py --part swipers --seeds 0-2
"""

from __future__ import annotations

from judges import main

from plgl.generators.molecules import MoleculeGenerator

if __name__ == "__main__":
    main("molecules", "atom pairs", MoleculeGenerator, __doc__, "0-2", "atom pairs' norm to try")

"""Section 1.3: the sigmoid chain, random-chain sweeps, their figures, the deep net's gradients."""

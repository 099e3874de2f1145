"""One example in; pass, excused or divergence out: the property wrapper, the comparisons that
name the broken rule, running a target, coverage of the contract's areas."""

package org.ibot4j.trainer.run.reporting;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.ibot4j.api.StepResult;

/**
 * Collapse of the teacher's [CLS] targets, step by step (docs/collapse.md): <em>uniform</em> when
 * their mean entropy is at least {@link #UNIFORM_SHARE} of ln(out_dim) (the [CLS] loss then sits at
 * ln(out_dim) and teaches nothing), <em>one prototype</em> when every global crop of the batch has
 * its target's maximum on the same prototype. After {@code patience} collapsed steps in a row it
 * returns one warning naming the condition and the likely levers; a healthy step re-arms it.
 */
public final class CollapseWatch {
    /**
     * Entropy at or above this share of ln(out_dim) counts as uniform: 6.58 of 6.93 nats at out_dim 1024, i.e. a target
     * spread like a uniform one over out_dim^0.95 = 720 prototypes. A run whose [CLS] loss sat at ln(256) measured 97.4 to
     * 98.2 %, so 98 % would flicker on exactly the runs this is for (docs/collapse.md).
     */
    public static final double UNIFORM_SHARE = 0.95;

    /** What a step's targets look like. */
    public enum State {
        HEALTHY, UNIFORM, ONE_PROTOTYPE;

        /** The state of one step from its metrics; a step without metrics (NaN) counts as healthy. */
        public static State of(double clsEntropy, double prototypesUsed, int outDim) {
            if (clsEntropy >= UNIFORM_SHARE * Math.log(outDim)) return UNIFORM;
            if (prototypesUsed == 1) return ONE_PROTOTYPE;
            return HEALTHY;
        }
    }

    private final int outDim, crops, patience;
    private final boolean sinkhornKnopp, koleo;
    private State current = State.HEALTHY;
    private long since = -1, count, warmupEnd;
    private boolean warned;

    /**
     * @param outDim K of the [CLS] projection
     * @param crops global crops per step on this process (n_global x batch): at most this many prototypes can be in use
     * @param patience collapsed steps in a row before the warning
     */
    public CollapseWatch(int outDim, int crops, int patience) {
        this(outDim, crops, patience, false, false);
    }

    /**
     * The same for a run that already uses DINOv2's remedies: the warning names only the levers left, and
     * under Sinkhorn-Knopp says that spread targets are expected (docs/demo.md, runs 3, 4 and 6: the uniform
     * condition held while k-NN rose).
     *
     * @param sinkhornKnopp the run uses --centering sinkhorn_knopp
     * @param koleo the run uses --koleo_loss_weight above 0
     */
    public CollapseWatch(int outDim, int crops, int patience, boolean sinkhornKnopp, boolean koleo) {
        this.outDim = outDim;
        this.crops = crops;
        this.patience = patience;
        this.sinkhornKnopp = sinkhornKnopp;
        this.koleo = koleo;
    }

    /**
     * Steps before {@code iteration} are a head warm-up ({@code --freeze_backbone_epochs}): new heads on a frozen backbone
     * start with near-uniform targets by construction, so those steps neither warn nor count towards {@code patience}.
     *
     * @param iteration the first iteration after the warm-up
     * @return this
     */
    public CollapseWatch warmupUntil(long iteration) {
        warmupEnd = iteration;
        return this;
    }

    /** Whether {@code iteration} belongs to the head warm-up. */
    public boolean inWarmup(long iteration) {
        return iteration < warmupEnd;
    }

    /** Prototypes in use over the most a step can use, min(out_dim, global crops): 1 = every crop on its own prototype. */
    public double prototypeShare(StepResult r) {
        return r.prototypesUsed() / (double) Math.min(outDim, crops);
    }

    /** For the progress line: the [CLS] target entropy against ln(out_dim), the prototype share and the effective rank. */
    public String status(StepResult r) {
        return String.format(Locale.ROOT, "H %.2f/%.2f, proto %.0f%%, rank %.1f", r.teacherClsEntropy(), Math.log(outDim),
                100 * prototypeShare(r), r.effectiveRank());
    }

    /** Follows one step; returns the warning on the step that completes {@code patience} collapsed steps in a row. */
    public Optional<String> observe(long iteration, StepResult r) {
        if (!r.finite()) return Optional.empty();
        if (inWarmup(iteration)) {
            current = State.HEALTHY;
            count = 0;
            warned = false;
            return Optional.empty();
        }
        State s = State.of(r.teacherClsEntropy(), r.prototypesUsed(), outDim);
        if (s != current) {
            current = s;
            since = iteration;
            count = 0;
            warned = false;
        }
        if (s == State.HEALTHY) return Optional.empty();
        count++;
        if (warned || count < patience) return Optional.empty();
        warned = true;
        return Optional.of(message(s, since, iteration, r));
    }

    private String message(State s, long from, long to, StepResult r) {
        String steps = String.format(Locale.ROOT, "for %d steps (iterations %d to %d)", to - from + 1, from, to);
        List<String> remedies = new ArrayList<>();
        if (!sinkhornKnopp) remedies.add("--centering sinkhorn_knopp");
        if (!koleo) remedies.add("--koleo_loss_weight 0.1");
        if (s == State.UNIFORM) {
            List<String> levers = new ArrayList<>(List.of("a lower --teacher_temp / --warmup_teacher_temp (sharper targets)", "a smaller --out_dim"));
            levers.addAll(remedies);
            levers.add("a lower --lr");
            String expected = sinkhornKnopp ? String.format(Locale.ROOT, " Under --centering sinkhorn_knopp, %d crops spread over %d prototypes "
                    + "give targets this flat by construction: while the effective rank (%.1f now) and the k-NN rise, the run is learning.",
                    crops, outDim, r.effectiveRank()) : "";
            return String.format(Locale.ROOT, "collapse: the teacher's [CLS] targets have been uniform %s: entropy %.3f of ln(%d) = %.3f nats, "
                    + "so the [CLS] loss sits near ln(out_dim) and teaches little.%s Likely levers: %s; watch the k-NN curve (--knn_every)",
                    steps, r.teacherClsEntropy(), outDim, Math.log(outDim), expected, String.join(", ", levers));
        }
        List<String> levers = new ArrayList<>(remedies);
        levers.addAll(List.of("a higher --teacher_temp", "a lower --lr or --momentum_teacher closer to 1"));
        return String.format(Locale.ROOT, "collapse: every global crop's [CLS] target has had its maximum on one prototype %s "
                + "(entropy %.3f nats, effective rank %.2f): the teacher maps every image to the same output. Likely levers: %s",
                steps, r.teacherClsEntropy(), r.effectiveRank(), String.join(", ", levers));
    }

    /**
     * The collapsed stretches of a logged run, for the report: [first, last iteration, state ordinal] of every run of
     * at least {@code minSteps} consecutive collapsed rows of one kind.
     */
    public static List<long[]> stretches(double[] iterations, double[] clsEntropy, double[] prototypesUsed, int outDim, int minSteps) {
        List<long[]> out = new ArrayList<>();
        int start = -1;
        State kind = State.HEALTHY;
        for (int i = 0; i <= iterations.length; i++) {
            State s = i < iterations.length ? State.of(clsEntropy[i], prototypesUsed[i], outDim) : State.HEALTHY;
            if (s == kind) continue;
            if (kind != State.HEALTHY && i - start >= minSteps) {
                out.add(new long[] {(long) iterations[start], (long) iterations[i - 1], kind.ordinal()});
            }
            kind = s;
            start = i;
        }
        return out;
    }
}

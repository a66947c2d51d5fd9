package org.ibot4j.trainer.run.running;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.ibot4j.api.IbotModel;
import org.ibot4j.api.Network;
import org.ibot4j.trainer.data.Datasets;
import org.ibot4j.trainer.data.ImageSource;
import org.ibot4j.trainer.eval.KnnClassifier;
import org.ibot4j.trainer.eval.KnnEvaluation;
import org.ibot4j.trainer.run.PretrainOptions;
import org.ibot4j.trainer.run.PretrainSetup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The optional k-NN monitor ({@code --knn_every} epochs): the teacher's CLS features of part of the
 * train split as memory and of the test split as queries, measured at the end of every N-th epoch,
 * logged and appended to {@code knn.jsonl}.
 */
final class KnnMonitor implements StepObserver {
    private static final Logger LOG = LoggerFactory.getLogger(KnnMonitor.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private final PretrainSetup setup;
    private final ImageSource memory, queries;
    private final IbotModel model;
    private final Path file;
    private final long every;
    private final List<Pretraining.Knn> results = new ArrayList<>();
    private Pretraining.Listener listener = new Pretraining.Listener() {};

    private KnnMonitor(PretrainSetup setup, ImageSource memory, ImageSource queries, IbotModel model, Path output) {
        this.setup = setup;
        this.memory = memory;
        this.queries = queries;
        this.model = model;
        this.file = output.resolve("knn.jsonl");
        this.every = setup.options().knnEvery * setup.itersPerEpoch();
    }

    /**
     * Memory images from the whole train split (not only a --subset), queries from the test split; a
     * library caller's images when it gave training images of its own.
     */
    static KnnMonitor of(PretrainSetup setup, ImageSource train, Hooks hooks, Path output) throws IOException {
        PretrainOptions o = setup.options();
        if (o.knnEvery <= 0) return new KnnMonitor(setup, null, null, null, output);
        if (hooks.knnMemory() != null) {
            return new KnnMonitor(setup, Datasets.head(hooks.knnMemory(), o.knnTrain), Datasets.head(hooks.knnQueries(), o.knnTest), null, output);
        }
        if (hooks.data() != null) {
            throw new IllegalArgumentException("knn_every needs labelled images for the monitor: pass them with Pretraining.Builder.knn(memory, queries)");
        }
        ImageSource test = Datasets.open(o.dataPath, Datasets.Split.TEST);
        return new KnnMonitor(setup, Datasets.head(train, o.knnTrain), Datasets.head(test, o.knnTest), null, output);
    }

    /** The monitor of {@code trained}: the data is opened before the model is made, so a missing split fails first. */
    KnnMonitor of(IbotModel trained, Pretraining.Listener told) {
        KnnMonitor monitor = new KnnMonitor(setup, memory, queries, trained, file.getParent());
        monitor.listener = told;
        return monitor;
    }

    @Override
    public void afterStep(Pretraining.Step step, double stepSeconds) throws IOException {
        long done = step.iteration() + 1;
        if (every <= 0 || done % every != 0) return;
        measure(done);
    }

    /**
     * The starting weights' k-NN, before the first step of a run that starts from weights ({@code --init_backbone},
     * {@code --load_from}): iteration 0 of the curve, the level an adaptation should not fall below.
     */
    void atStart() throws IOException {
        if (every > 0) measure(0);
    }

    private void measure(long done) throws IOException {
        KnnClassifier.Accuracy a = KnnEvaluation.network(model, Network.TEACHER, memory, queries, setup.augmentation(), setup.evalSize());
        results.add(new Pretraining.Knn(done, (int) (done / setup.itersPerEpoch()), a));
        listener.onKnn(results.getLast());
        LOG.info("k-NN after epoch {} (iteration {}): top-1 {} %, top-5 {} %", done / setup.itersPerEpoch(), done,
                fmt(a.top1()), fmt(a.top5()));
        ObjectNode row = JSON.createObjectNode().put("iteration", done).put("epoch", done / setup.itersPerEpoch())
                .put("top1", a.top1()).put("top5", a.top5());
        Files.writeString(file, JSON.writeValueAsString(row) + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    /** The results of this process's part of the run, by iteration. */
    List<Pretraining.Knn> results() {
        return results;
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }
}

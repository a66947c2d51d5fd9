package org.ibot4j.trainer.eval;

import static org.assertj.core.api.Assertions.assertThat;

import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;

class KnnClassifierTest {
    @Test
    void weightedVoteFollowsTheNearestNeighbours() {
        // Class 0 along x, class 1 along y; scaled copies show the features are L2-normalised.
        float[][] train = {{1, 0}, {2, 0.1f}, {3, -0.1f}, {0, 1}, {0.1f, 5}, {-0.1f, 2}};
        int[] labels = {0, 0, 0, 1, 1, 1};
        KnnClassifier knn = new KnnClassifier(train, labels, 2, 3, 0.07);
        KnnClassifier.Accuracy acc = knn.evaluate(new float[][] {{10, 1}, {1, 10}, {-1, 8}}, new int[] {0, 1, 0});
        assertThat(acc.top1()).isCloseTo(200.0 / 3, Assertions.within(1e-9));
        assertThat(acc.top5()).isEqualTo(100.0);
    }

    @Test
    void closerNeighboursOutweighAMajority() {
        // k = 3: one very close class-1 neighbour beats two distant class-0 ones with T = 0.07.
        float[][] train = {{1, 0}, {0.6f, 0.8f}, {0.6f, -0.8f}};
        int[] labels = {1, 0, 0};
        KnnClassifier knn = new KnnClassifier(train, labels, 2, 3, 0.07);
        assertThat(knn.evaluate(new float[][] {{1, 0.01f}}, new int[] {1}).top1()).isEqualTo(100.0);
    }
}

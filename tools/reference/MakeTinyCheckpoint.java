import org.ibot4j.api.*;
import java.lang.foreign.*;
import java.nio.file.Path;
/** Writes the tiny one-step checkpoint the damaged-checkpoint fixtures start from (see make_damaged_checkpoints.py). */
public class MakeTinyCheckpoint {
  public static void main(String[] a) {
    IbotConfig c = IbotConfig.builder().imgSize(16).patchSize(4).inChans(1).embedDim(16).depth(1).numHeads(2)
        .outDim(16).patchOutDim(16).hiddenDim(16).bottleneckDim(8).sharedHead(true).sharedHeadTeacher(true)
        .normLastLayer(false).seed(3).numThreads(1).build();
    try (IbotModel m = IbotModel.create(c); Arena arena = Arena.ofConfined()) {
      TrainBatch b = TrainBatch.allocate(arena, c, 2, 2, 0, 16, 8);
      for (long i = 0; i < b.globalCrops().byteSize() / 4; i++) b.globalCrops().setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) Math.sin(i));
      System.out.println(m.trainStep(b, new StepParams(1e-3, 0.04, 0.99, 0.04, 0.04, false, 3.0)));
      m.save(Path.of(a[0]), "{}");
    }
  }
}

package org.ibot4j.trainer.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.ibot4j.api.Arch;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.Option;

class PretrainOptionsTest {
    @Test
    void defaultsAreThePublishedViTSmallRun() {
        PretrainOptions o = new PretrainOptions();
        assertThat(o.arch).isEqualTo(Arch.VIT_SMALL);
        assertThat(o.sharedHead).isTrue();
        assertThat(o.normLastLayer).isFalse();
        assertThat(o.teacherTemp).isEqualTo(0.07);
        assertThat(o.localCropsNumber).isEqualTo(10);
        assertThat(o.globalCropsScale).containsExactly(0.25, 1.0);
        assertThat(o.predRatioVar).containsExactly(0, 0.2);
    }

    /** One name per option: the flag, the config-file key and the options.json key are the field's snake_case. */
    @Test
    void everyOptionsFlagIsItsFieldsSnakeCaseNameAndSoIsItsJsonKey() {
        ObjectNode json = new ObjectMapper().valueToTree(new PretrainOptions());
        List<String> fields = new ArrayList<>();
        for (Field f : PretrainOptions.class.getFields()) {
            Option option = f.getAnnotation(Option.class);
            if (option == null) continue;
            String snake = f.getName().replaceAll("([A-Z])", "_$1").toLowerCase(Locale.ROOT);
            assertThat(option.names()[0]).as(f.getName()).isEqualTo("--" + snake);
            assertThat(json.has(snake)).as("options.json key " + snake).isTrue();
            fields.add(snake);
        }
        assertThat(json.size()).isEqualTo(fields.size());
    }

    @Test
    void givenValuesAreTypedAndRememberedAsChoices() {
        PretrainOptions o = new PretrainOptions().given(Map.of("arch", "vit_tiny", "mean", List.of(0.5), "pred_shape", "rand", "patch_size", 8));
        assertThat(o.arch).isEqualTo(Arch.VIT_TINY);
        assertThat(o.mean).containsExactly(0.5);
        assertThat(o.predShape).isEqualTo(PretrainOptions.PredShape.rand);
        assertThat(o.isExplicit("patch_size")).isTrue();
        assertThat(o.isExplicit("teacher_temp")).isFalse();
        assertThatThrownBy(() -> new PretrainOptions().with(Map.of("teacher_tmp", 1))).hasMessageContaining("teacher_tmp");
        assertThatThrownBy(() -> new PretrainOptions().with(Map.of("arch", "vit_huge"))).hasMessageContaining("vit_huge");
    }
}

package org.ibot4j.trainer.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PretrainOptionsTest {
    @Test
    void officialNamesWithEitherSpellingAndAliases() {
        PretrainOptions o = PretrainOptions.defaults().apply(Map.of("patch-size", "8", "out_dim", "4096", "batch_size", "32",
                "pred-ratio", "0 0.3", "norm_last_layer", "true", "data", "fashion-mnist"), "flags");
        assertThat(o.getInt("patch_size")).isEqualTo(8);
        assertThat(o.getInt("out_dim")).isEqualTo(4096);
        assertThat(o.getInt("batch_size_per_gpu")).isEqualTo(32);
        assertThat(o.getDoubles("pred_ratio")).containsExactly(0, 0.3);
        assertThat(o.getBool("norm_last_layer")).isTrue();
        assertThat(o.getString("data_path")).isEqualTo("fashion-mnist");
        assertThat(o.isExplicit("patch-size")).isTrue();
        assertThat(o.isExplicit("teacher_temp")).isFalse();
    }

    @Test
    void defaultsAreThePublishedViTSmallRun() {
        PretrainOptions o = PretrainOptions.defaults();
        assertThat(o.getString("arch")).isEqualTo("vit_small");
        assertThat(o.getBool("shared_head")).isTrue();
        assertThat(o.getBool("norm_last_layer")).isFalse();
        assertThat(o.getDouble("teacher_temp")).isEqualTo(0.07);
        assertThat(o.getInt("local_crops_number")).isEqualTo(10);
        assertThat(o.getDoubles("global_crops_scale")).containsExactly(0.25, 1.0);
        assertThat(o.getDoubles("pred_ratio_var")).containsExactly(0, 0.2);
    }

    @Test
    void aYamlOrJsonFileThenFlagsOverIt(@TempDir Path dir) throws IOException {
        Path yaml = Files.writeString(dir.resolve("run.yaml"), """
                arch: vit_tiny
                patch_size: 4
                local_crops_scale: [0.1, 0.3]
                teacher_temp: 0.05
                """);
        PretrainOptions o = PretrainOptions.defaults().apply(ConfigFile.read(yaml), "run.yaml").apply(Map.of("teacher-temp", "0.06"), "flags");
        assertThat(o.getString("arch")).isEqualTo("vit_tiny");
        assertThat(o.getDoubles("local_crops_scale")).containsExactly(0.1, 0.3);
        assertThat(o.getDouble("teacher_temp")).isEqualTo(0.06);
        Path json = Files.writeString(dir.resolve("run.json"), "{\"epochs\": 7, \"use_masked_im_modeling\": false}");
        PretrainOptions j = PretrainOptions.defaults().apply(ConfigFile.read(json), "run.json");
        assertThat(j.getInt("epochs")).isEqualTo(7);
        assertThat(j.getBool("use_masked_im_modeling")).isFalse();
    }

    @Test
    void unknownNamesAndBadValuesAreAllNamed(@TempDir Path dir) throws IOException {
        assertThatThrownBy(() -> PretrainOptions.defaults().apply(Map.of("teacher_tmp", "0.04", "epochs", "ten", "arch", "vit_huge"), "flags"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown option 'teacher_tmp' (did you mean teacher_temp")
                .hasMessageContaining("epochs: 'ten' is not a number")
                .hasMessageContaining("arch: 'vit_huge' is not one of [vit_tiny, vit_small, vit_base, vit_large]");
        Path broken = Files.writeString(dir.resolve("bad.yaml"), "arch: [vit_tiny\n");
        assertThatThrownBy(() -> ConfigFile.read(broken)).hasMessageContaining("bad.yaml is not valid YAML");
    }

    @Test
    void dataDependentDefaultsNeverOverrideAChoice() {
        PretrainOptions o = PretrainOptions.defaults().apply(Map.of("patch_size", "8"), "flags");
        o.setDefault("patch_size", 4).setDefault("global_crop_size", 32);
        assertThat(o.getInt("patch_size")).isEqualTo(8);
        assertThat(o.getInt("global_crop_size")).isEqualTo(32);
    }
}

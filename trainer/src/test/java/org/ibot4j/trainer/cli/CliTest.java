package org.ibot4j.trainer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.ibot4j.api.Arch;
import org.ibot4j.trainer.run.PretrainOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class CliTest {
    /** Exit code, standard output and standard error of one command line. */
    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Ibot4jCli.execute(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** The options a pretrain command line resolves to, without running it. */
    static PretrainOptions pretrainOptions(String... args) throws IOException {
        String[] all = new String[args.length + 1];
        all[0] = "pretrain";
        System.arraycopy(args, 0, all, 1, args.length);
        String[] normalised = Ibot4jCli.normalise(all);
        CommandLine cli = Ibot4jCli.commandLine(System.out, System.err);
        ConfigDefaults.install(cli, normalised);
        CommandLine.ParseResult parsed = cli.parseArgs(normalised);
        CommandLine sub = parsed.subcommand().commandSpec().commandLine();
        PretrainCommand command = sub.getCommand();
        return PretrainCommand.withExplicit(command, command.options);
    }

    @Test
    void everyCommandHasGeneratedHelp() {
        for (String command : new String[] {"pretrain", "demo", "eval-knn", "embed", "doctor", "export", "import"}) {
            Result r = run(command, "--help");
            assertThat(r.code()).as(command).isZero();
            assertThat(r.out()).as(command).contains("Usage: ibot4j " + command);
        }
        assertThat(run("pretrain", "--help").out()).contains("--teacher_temp").contains("--pred_ratio").contains("--max_steps")
                .contains("Default: 0.07");
        assertThat(run().out()).contains("pretrain").contains("eval-knn");
    }

    @Test
    void flagsTakeEitherSpellingSeveralValuesEqualsSignsAndOfficialBooleans() throws IOException {
        PretrainOptions o = pretrainOptions("--patch_size", "8", "--out-dim=512", "--pred_ratio", "0", "0.3", "--resume", "true",
                "--local-crops-scale", "0.05", "0.4", "--norm_last_layer", "on", "--use_fp16", "0", "--bf16", "--arch", "vit_tiny");
        assertThat(o.patchSize).isEqualTo(8);
        assertThat(o.outDim).isEqualTo(512);
        assertThat(o.predRatio).containsExactly(0, 0.3);
        assertThat(o.resume).isEqualTo("true");
        assertThat(o.localCropsScale).containsExactly(0.05, 0.4);
        assertThat(o.normLastLayer).isTrue();
        assertThat(o.useFp16).isFalse();
        assertThat(o.bf16).isTrue();
        assertThat(o.arch).isEqualTo(Arch.VIT_TINY);
        assertThat(o.isExplicit("patch_size")).isTrue();
        assertThat(o.isExplicit("teacher_temp")).isFalse();
        PretrainOptions aliases = pretrainOptions("--data", "fashion-mnist", "--output", "x", "--batch_size", "32", "--save_every", "5");
        assertThat(aliases.dataPath).isEqualTo("fashion-mnist");
        assertThat(aliases.outputDir).isEqualTo("x");
        assertThat(aliases.batchSizePerGpu).isEqualTo(32);
        assertThat(aliases.saveckpIters).isEqualTo(5);
        assertThat(aliases.isExplicit("batch_size_per_gpu")).isTrue();
    }

    @Test
    void aYamlOrJsonFileThenFlagsOverIt(@TempDir Path dir) throws IOException {
        Path yaml = Files.writeString(dir.resolve("run.yaml"), """
                arch: vit_tiny
                patch-size: 4
                local_crops_scale: [0.1, 0.3]
                teacher_temp: 0.05
                """);
        PretrainOptions o = pretrainOptions("--config", yaml.toString(), "--teacher-temp", "0.06");
        assertThat(o.arch).isEqualTo(Arch.VIT_TINY);
        assertThat(o.patchSize).isEqualTo(4);
        assertThat(o.localCropsScale).containsExactly(0.1, 0.3);
        assertThat(o.teacherTemp).isEqualTo(0.06);
        assertThat(o.isExplicit("arch")).isTrue();
        assertThat(o.isExplicit("patch_size")).isTrue();
        assertThat(o.isExplicit("epochs")).isFalse();
        Path json = Files.writeString(dir.resolve("run.json"), "{\"epochs\": 7, \"use_masked_im_modeling\": false}");
        PretrainOptions j = pretrainOptions("--config", json.toString());
        assertThat(j.epochs).isEqualTo(7);
        assertThat(j.useMaskedImModeling).isFalse();
    }

    /** The redesign issue's third failure: every command refuses flags it does not know, naming them. */
    @Test
    void unknownFlagsAreRefusedByEveryCommandWithTheClosestOption() {
        Result knn = run("eval-knn", "--checkpoint", "x", "--data", "fashion-mnist", "--knn_trian", "100", "--bogus", "1");
        assertThat(knn.code()).isEqualTo(2);
        assertThat(knn.err()).contains("--knn_trian").contains("--bogus").contains("see 'ibot4j eval-knn --help'");
        Result pretrain = run("pretrain", "--knn-trian", "100");
        assertThat(pretrain.code()).isEqualTo(2);
        assertThat(pretrain.err()).contains("--knn_trian").contains("did you mean --knn_train");
        for (String command : new String[] {"embed", "export", "import", "doctor", "demo"}) {
            Result r = run(command, "--no_such_flag");
            assertThat(r.code()).as(command).isEqualTo(2);
            assertThat(r.err()).as(command).contains("--no_such_flag");
        }
    }

    @Test
    void badValuesAndBadConfigFilesAreNamed(@TempDir Path dir) throws IOException {
        assertThat(run("pretrain", "--epochs", "ten").err()).contains("--epochs").contains("ten");
        assertThat(run("pretrain", "--arch", "vit_huge").err()).contains("vit_huge").contains("vit_tiny");
        assertThat(run("pretrain", "--norm_last_layer", "maybe", "--output", "x").err()).contains("maybe");
        Path typo = Files.writeString(dir.resolve("typo.yaml"), "teacher_tmp: 0.04\n");
        Result r = run("pretrain", "--config", typo.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("'teacher_tmp'").contains("did you mean --teacher_temp").contains("typo.yaml");
        Path broken = Files.writeString(dir.resolve("bad.yaml"), "arch: [vit_tiny\n");
        assertThat(run("pretrain", "--config", broken.toString()).err()).contains("bad.yaml is not valid YAML");
        Path wrongType = Files.writeString(dir.resolve("type.yaml"), "epochs: ten\n");
        assertThat(run("pretrain", "--config", wrongType.toString()).err()).contains("ten");
    }

    @Test
    void aCheckpointArgumentThatIsNoCheckpointIsRefusedInIbot4jsWords(@TempDir Path dir) throws IOException {
        Path text = Files.writeString(dir.resolve("notes.txt"), "not a checkpoint");
        Result file = run("eval-knn", "--checkpoint", text.toString(), "--data", "fashion-mnist", "--limit_train", "10", "--limit_val", "10");
        assertThat(file.code()).isEqualTo(1);
        assertThat(file.err()).contains("is not an ibot4j checkpoint").doesNotContainIgnoringCase("zip").doesNotContain("miniz");
        Path empty = Files.createDirectories(dir.resolve("empty-run"));
        Result folder = run("export", "--checkpoint", empty.toString(), "--output", dir.resolve("x.pth").toString());
        assertThat(folder.code()).isEqualTo(1);
        assertThat(folder.err()).contains("without a readable checkpoint");
    }

    @Test
    void everyCommandSpellsItsDestinationOutput(@TempDir Path dir) {
        // One spelling per idea: --output names what a command writes, a folder or a file; --out is refused with the way out.
        for (String command : new String[] {"pretrain", "demo", "visualize", "eval-linear", "embed", "export", "import"}) {
            var spec = Ibot4jCli.commandLine(System.out, System.err).getSubcommands().get(command).getCommandSpec();
            assertThat(spec.optionsMap()).as(command).containsKey("--output").doesNotContainKey("--out");
        }
        Result old = run("export", "--checkpoint", dir.toString(), "--out", dir.resolve("x.pth").toString());
        assertThat(old.code()).isEqualTo(2);
        assertThat(old.err()).contains("--out").contains("did you mean --output");
    }

    @Test
    void anExtendedRunsOptionsJsonStillServesAsAConfigFile(@TempDir Path dir) throws IOException {
        // options.json of a run lengthened with --extend_schedule carries its history beside the options.
        Path json = Files.writeString(dir.resolve("options.json"), "{\"epochs\": 4, \"arch\": \"vit_tiny\", \"schedule_extensions\": "
                + "[{\"iteration\": 12, \"epochs_before\": 3, \"epochs_after\": 4}]}");
        PretrainOptions o = pretrainOptions("--config", json.toString());
        assertThat(o.epochs).isEqualTo(4);
        assertThat(o.isExplicit("epochs")).isTrue();
    }
}

package org.ibot4j.trainer.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The trainer's packages depend downwards only: cli (commands) on run (loop, checkpoints, metrics,
 * progress, plots, options), run on eval, eval on data, and schedule on nothing of the trainer.
 * Inside run: running (the entry and the loop's observers) on reporting (metrics, report, figures),
 * reporting on checkpoints (store, resume plan, metadata), and all three on the options in run itself.
 * Checked on the compiled classes, so an import, a fully qualified name or a lambda all count.
 */
class LayeringTest {
    private static final JavaClasses TRAINER = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("org.ibot4j.trainer");

    @Test
    void noPackageCycles() {
        slices().matching("org.ibot4j.trainer.(*)..").should().beFreeOfCycles().check(TRAINER);
    }

    @Test
    void arrowsOnlyPointDown() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("cli").definedBy("org.ibot4j.trainer.cli..")
                .layer("export").definedBy("org.ibot4j.trainer.export..")
                .layer("run").definedBy("org.ibot4j.trainer.run..")
                .layer("eval").definedBy("org.ibot4j.trainer.eval..")
                .layer("schedule").definedBy("org.ibot4j.trainer.schedule..")
                .layer("data").definedBy("org.ibot4j.trainer.data..")
                .whereLayer("cli").mayNotBeAccessedByAnyLayer()
                .whereLayer("export").mayOnlyBeAccessedByLayers("cli")
                .whereLayer("run").mayOnlyBeAccessedByLayers("cli")
                .whereLayer("eval").mayOnlyBeAccessedByLayers("cli", "run")
                .whereLayer("schedule").mayOnlyBeAccessedByLayers("cli", "run")
                .whereLayer("data").mayOnlyBeAccessedByLayers("cli", "run", "eval")
                .check(TRAINER);
    }

    @Test
    void theRunLayerIsSplitByJob() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("running").definedBy("org.ibot4j.trainer.run.running..")
                .layer("reporting").definedBy("org.ibot4j.trainer.run.reporting..")
                .layer("checkpoints").definedBy("org.ibot4j.trainer.run.checkpoints..")
                .layer("options").definedBy("org.ibot4j.trainer.run")
                .whereLayer("running").mayNotBeAccessedByAnyLayer()
                .whereLayer("reporting").mayOnlyBeAccessedByLayers("running")
                .whereLayer("checkpoints").mayOnlyBeAccessedByLayers("running", "reporting")
                .whereLayer("options").mayOnlyBeAccessedByLayers("running", "reporting", "checkpoints")
                .check(TRAINER);
    }

    @Test
    void theShippedTrainerHoldsNoBenchmarks() {
        noClasses().should().haveSimpleNameContaining("Bench")
                .check(TRAINER);
    }
}

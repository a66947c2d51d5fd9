package org.ibot4j.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.ibot4j.bindings.Ibot4jC;
import org.ibot4j.bindings.ibot4j_config;
import org.junit.jupiter.api.Test;

/**
 * The configuration is defined twice by hand, as the C struct (IBOT4J_CONFIG_FIELDS in ibot4j.h)
 * and as the record IbotConfig; everything else derives from them. These tests fail when a field is
 * added to one and not the other, or is missing from the builder, the JSON form or the struct fill.
 */
class ConfigFieldsTest {
    /** A configuration whose every field differs from the builder's default. */
    static IbotConfig everyFieldChanged() {
        return IbotConfig.builder().imgSize(48).patchSize(8).inChans(1).embedDim(96).depth(3).numHeads(4).mlpRatio(2.5)
                .qkvBias(false).family(Family.DINOV3).numRegisterTokens(2).layerScaleInit(0.1).swiglu(true).dropPathRate(0.25).outDim(300).patchOutDim(300).hiddenDim(128).bottleneckDim(32)
                .sharedHead(true).sharedHeadTeacher(true).normLastLayer(false).studentTemp(0.2).centerMomentum(0.8)
                .centerMomentum2(0.7).lambda1(0.5).lambda2(1.5).beta1(0.8).beta2(0.99).eps(1e-6).centering(Centering.SINKHORN_KNOPP).koleoLossWeight(0.1).layerDecay(0.5).backboneLrMultiplier(0.25).gramLossWeight(0.2).distillLossWeight(0.3).distillFamily(Family.DINOV3).distillImgSize(64).distillPatchSize(16).distillEmbedDim(48)
                .distillDepth(3).distillNumHeads(3).distillMlpRatio(2.0).distillQkvBias(true).distillNumRegisterTokens(4).distillLayerScaleInit(1e-5)
                .distillSwiglu(true).seed(1L << 40)
                .numThreads(2).device(Device.CUDA).bf16Autocast(true).forceBf16(true).build();
    }

    /** The two head flags cannot both leave their defaults (false, true) at once: the other one here. */
    static IbotConfig teacherHeadUnshared() {
        return IbotConfig.builder().sharedHead(false).sharedHeadTeacher(false).patchOutDim(4096).build();
    }

    @Test
    void recordComponentsAndStructMembersAreTheSameFieldsInTheSameOrder() {
        List<String> record = Arrays.stream(IbotConfig.class.getRecordComponents())
                .map(c -> ConfigStruct.snakeCase(c.getName())).toList();
        assertThat(record).containsExactlyElementsOf(ConfigStruct.structMembers());
    }

    @Test
    void theBuilderHasASetterForEveryComponent() {
        List<String> missing = new ArrayList<>();
        for (RecordComponent c : IbotConfig.class.getRecordComponents()) {
            boolean found = Arrays.stream(IbotConfigBuilder.class.getMethods())
                    .anyMatch(m -> m.getName().equals(c.getName()) && m.getParameterCount() == 1
                            && m.getParameterTypes()[0] == c.getType());
            if (!found) missing.add(c.getName());
        }
        assertThat(missing).as("IbotConfigBuilder setters missing").isEmpty();
    }

    @Test
    void everyFieldSurvivesTheBuilderAndJson() {
        IbotConfig changed = everyFieldChanged();
        IbotConfig defaults = IbotConfig.builder().build();
        IbotConfig other = teacherHeadUnshared();
        List<String> unchanged = Arrays.stream(IbotConfig.class.getRecordComponents())
                .filter(c -> value(c, changed).equals(value(c, defaults)) && value(c, other).equals(value(c, defaults)))
                .map(RecordComponent::getName).toList();
        assertThat(unchanged).as("fields the test's config leaves at their default (extend everyFieldChanged)").isEmpty();

        assertThat(changed.toBuilder().build()).isEqualTo(changed);
        ObjectNode json = changed.toJson();
        assertThat(json.properties().stream().map(Map.Entry::getKey).collect(Collectors.toList()))
                .containsExactlyElementsOf(ConfigStruct.structMembers());
        assertThat(IbotConfig.fromJson(json)).isEqualTo(changed);
        assertThat(IbotConfig.fromJson(other.toJson())).isEqualTo(other);
        assertThat(json.get("device").asText()).isEqualTo("cuda");
    }

    @Test
    void jsonWithoutAFieldKeepsItsDefaultAndAnUnknownFieldIsRefused() {
        ObjectNode json = IbotConfig.builder().embedDim(96).numHeads(6).build().toJson();
        json.remove("mlp_ratio");
        assertThat(IbotConfig.fromJson(json).mlpRatio()).isEqualTo(4.0);
        json.put("embed_dimm", 3);
        assertThatThrownBy(() -> IbotConfig.fromJson(json)).isInstanceOf(InvalidConfigException.class).hasMessageContaining("embed_dimm");
    }

    @Test
    void theStructReceivesEveryFieldUnderItsOwnName() {
        IbotConfig c = everyFieldChanged();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = ConfigStruct.allocate(c, arena);
            assertThat(ibot4j_config.img_size(s)).isEqualTo(48);
            assertThat(ibot4j_config.mlp_ratio(s)).isEqualTo(2.5);
            assertThat(ibot4j_config.qkv_bias(s)).isZero();
            assertThat(ibot4j_config.shared_head(s)).isEqualTo(1);
            assertThat(ibot4j_config.center_momentum2(s)).isEqualTo(0.7);
            assertThat(ibot4j_config.seed(s)).isEqualTo(1L << 40);
            assertThat(ibot4j_config.device(s)).isEqualTo(Ibot4jC.IBOT4J_DEVICE_CUDA());
            assertThat(ibot4j_config.bf16_autocast(s)).isEqualTo(1);
            assertThat(ibot4j_config.force_bf16(s)).isEqualTo(1);
        }
    }

    private static Object value(RecordComponent c, IbotConfig config) {
        try {
            Method accessor = c.getAccessor();
            return accessor.invoke(config);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }
}

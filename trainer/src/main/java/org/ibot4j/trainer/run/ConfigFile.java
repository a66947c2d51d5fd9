package org.ibot4j.trainer.run;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/** A pretrain config file: one mapping of option names to values (lists for list options), in YAML or JSON. */
public final class ConfigFile {
    private ConfigFile() {}

    /** A recipe shipped as a class-path resource, in the same format. */
    public static Map<String, Object> readResource(Class<?> owner, String name) throws IOException {
        try (java.io.InputStream in = owner.getResourceAsStream(name)) {
            if (in == null) throw new IOException("resource " + name + " is missing from the ibot4j jar");
            Object parsed = new ObjectMapper(new YAMLFactory()).readValue(in, Object.class);
            @SuppressWarnings("unchecked")
            Map<String, Object> options = (Map<String, Object>) parsed;
            return options;
        }
    }

    public static Map<String, Object> read(Path file) throws IOException {
        org.ibot4j.api.io.SpecialFiles.requireReadable(file, "config file");
        boolean json = file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json");
        ObjectMapper mapper = json ? new ObjectMapper() : new ObjectMapper(new YAMLFactory());
        // A key given twice is a mistake in the file, not "the last one wins".
        mapper.enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        Object parsed;
        try (com.fasterxml.jackson.databind.MappingIterator<Object> documents = mapper.readerFor(Object.class).readValues(file.toFile())) {
            parsed = documents.hasNextValue() ? documents.nextValue() : null;
            if (documents.hasNextValue()) {
                throw new IOException("config file " + file + " holds more than one " + (json ? "JSON value" : "YAML document ('---')")
                        + "; ibot4j reads one mapping of option: value, so put every option in one document");
            }
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("config file ")) throw e;
            throw new IOException("config file " + file + " is not valid " + (json ? "JSON" : "YAML") + ": " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()), e);
        }
        if (parsed == null) return Map.of();
        if (!(parsed instanceof Map<?, ?> map)) throw new IOException("config file " + file + " must hold a mapping of option: value");
        @SuppressWarnings("unchecked")
        Map<String, Object> options = (Map<String, Object>) map;
        return options;
    }
}

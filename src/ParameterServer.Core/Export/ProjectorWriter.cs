using System.Text.Json;

namespace ParameterServer.Core.Export;

/// <summary>
/// The TensorFlow Embedding Projector's files: <c>vectors.tsv</c> (one row per line, values separated by tabs),
/// <c>metadata.tsv</c> (one label per line; a single column, so no header line; tabs and line breaks in labels
/// become spaces) and <c>projector_config.json</c> naming both with the tensor's shape.
/// </summary>
internal sealed class ProjectorWriter(string directory, string name, int dim) : EmbeddingWriter(directory, name, dim)
{
    /// <summary>The vectors file name.</summary>
    public const string VectorsFile = "vectors.tsv";

    /// <summary>The labels file name.</summary>
    public const string MetadataFile = "metadata.tsv";

    /// <summary>The configuration file name.</summary>
    public const string ConfigFile = "projector_config.json";

    private OutputFile _vectors = null!;
    private OutputFile _metadata = null!;
    private OutputFile _config = null!;
    private long _labelsChanged;

    protected override void Begin()
    {
        _vectors = Open(VectorsFile);
        _metadata = Open(MetadataFile);
        _config = Open(ConfigFile);
    }

    protected override void WriteRows(ReadOnlySpan<long> ids, ReadOnlySpan<float> values, IReadOnlyList<string?> labels)
    {
        var text = _vectors.Text;
        for (int i = 0; i < ids.Length; i++)
        {
            WriteValues(text, values.Slice(i * Dim, Dim), '\t', leadingSeparator: false);
            text.Write('\n');
            _metadata.Text.WriteLine(Replace(LabelOrId(ids[i], labels[i]), c => c is '\t' or '\r' or '\n', ' ', ref _labelsChanged));
        }
    }

    protected override void Finish()
    {
        using (var json = new Utf8JsonWriter(_config.Stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartArray("embeddings");
            json.WriteStartObject();
            json.WriteString("tensorName", Name);
            json.WriteStartArray("tensorShape");
            json.WriteNumberValue(Rows);
            json.WriteNumberValue(Dim);
            json.WriteEndArray();
            json.WriteString("tensorPath", VectorsFile);
            json.WriteString("metadataPath", MetadataFile);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        _config.Stream.WriteByte((byte)'\n');
        if (_labelsChanged > 0)
        {
            Notes.Add($"{_labelsChanged:N0} labels held tabs or line breaks, written as spaces in {MetadataFile}.");
        }
    }
}

using ParameterServer.Core.Data;
using ParameterServer.Core.Hashing;

namespace ParameterServer.Core.Tests;

/// <summary>Reading (entity, link) pairs: formats, filters, ids, and malformed input named by file and line.</summary>
public sealed class LinkPairsReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ps-links-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string File(string name, string contents)
    {
        string path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, contents);
        return path;
    }

    private static HashSet<(string Entity, string Link)> Texts(LinkPairs p) =>
        [.. Enumerable.Range(0, p.Count).Select(i => (p.EntityLabels[p.Entity[i]] ?? p.EntityIds[p.Entity[i]].ToString(System.Globalization.CultureInfo.InvariantCulture), p.LinkLabels[p.Link[i]]))];

    [Fact]
    public void CsvWithALinkSeparatorGivesDistinctPairsAndNumericIds()
    {
        string path = File("movies.csv", "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation|Children\n2,\"Jumanji, The\",Adventure|Children\n2,Jumanji,Adventure\n");
        var p = LinkPairsReader.Read(path, new LinkReaderOptions { EntityColumn = "movieId", LinkColumn = "genres", LinkSeparator = '|' });
        Assert.Equal([("1", "Adventure"), ("1", "Animation"), ("1", "Children"), ("2", "Adventure"), ("2", "Children")], Texts(p));
        Assert.Equal(1, p.Repeated);
        Assert.Equal([1L, 2L], p.EntityIds);
        Assert.Equal(StableHash.Of("Adventure"), p.LinkIds[p.Link[0]]);
        Assert.All(p.EntityLabels, Assert.Null);
    }

    [Fact]
    public void NdjsonArraysStopListAndRareLinksAreHandledWithHashedEntities()
    {
        string path = File("books.ndjson",
            "{\"title\": \"War and Peace\", \"links\": [\"Leo Tolstoy\", \"Novel\", \"ISBN\"]}\n" +
            "{\"title\": \"Anna Karenina\", \"links\": [\"Leo Tolstoy\", \"novel\", \"Russia\"]}\n\n" +
            "{\"title\": \"Dune\", \"links\": \"Novel\"}\n");
        var p = LinkPairsReader.Read(path, new LinkReaderOptions
        {
            Ndjson = true,
            EntityColumn = "title",
            LinkColumn = "links",
            MinLinkEntities = 2,
            StopList = new HashSet<string>(["isbn"], StringComparer.OrdinalIgnoreCase),
        });
        Assert.Equal([("War and Peace", "Leo Tolstoy"), ("War and Peace", "Novel"), ("Anna Karenina", "Leo Tolstoy"), ("Dune", "Novel")], Texts(p));
        Assert.Equal(1, p.DroppedStopped);
        Assert.Equal(2, p.DroppedRare);
        Assert.Equal(StableHash.Of("Dune"), p.EntityIds[p.Entity[^1]]);
    }

    [Theory]
    [InlineData("entity,link\na,b\nc\n", "pairs.csv:3: expected at least 2 fields, found 1")]
    [InlineData("entity,link\n,b\n", "pairs.csv:2: empty entity in column 0")]
    [InlineData("", "the file is empty; expected a header line")]
    [InlineData("entity,link\n", "the file holds no pairs")]
    [InlineData("book,page\nx,y\n", "pairs.csv:1: no entity column 'entity'; the header has: book, page")]
    public void MalformedCsvIsRefusedNamingFileAndLine(string contents, string fragment)
    {
        string path = File("pairs.csv", contents);
        var e = Assert.ThrowsAny<Exception>(() => LinkPairsReader.Read(path));
        Assert.Contains(fragment, e.Message);
    }

    [Theory]
    [InlineData("{\"entity\": \"a\", \"link\": \"b\"}\n[1, 2]\n", ":2: expected a JSON object")]
    [InlineData("{\"entity\": \"a\", \"link\": \"b\"}\n{\"entity\": \"a\"\n", ":2: not valid JSON")]
    [InlineData("{\"link\": \"b\"}\n", ":1: no string or number field 'entity'")]
    [InlineData("{\"entity\": \"a\", \"link\": [\"b\", null]}\n", ":1: field 'link' holds a Null, not a string")]
    public void MalformedNdjsonIsRefusedNamingTheLine(string contents, string fragment)
    {
        string path = File("pairs.ndjson", contents);
        var e = Assert.Throws<DataFormatException>(() => LinkPairsReader.Read(path, new LinkReaderOptions { Ndjson = true }));
        Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void NumericIdsRefuseTextAndSkippingCountsBadLines()
    {
        string path = File("pairs.csv", "entity,link\n1,a\nbook,b\n2,a\n");
        var e = Assert.Throws<DataFormatException>(() => LinkPairsReader.Read(path, new LinkReaderOptions { EntityIds = EntityIdMode.Numeric }));
        Assert.Contains(":3: entity 'book' in column 0 is not an integer id", e.Message);
        var p = LinkPairsReader.Read(path, new LinkReaderOptions { EntityIds = EntityIdMode.Numeric, SkipBadRows = true });
        Assert.Equal(1, p.SkippedRows);
        Assert.Equal(2, p.Count);

        // Auto: one non-integer entity makes every entity hashed.
        var auto = LinkPairsReader.Read(path);
        Assert.Equal(StableHash.Of("1"), auto.EntityIds[0]);
        Assert.Equal("book", auto.EntityLabels[1]);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        var e = Assert.Throws<FileNotFoundException>(() => LinkPairsReader.Read(Path.Combine(_dir, "nope.csv")));
        Assert.Contains("nope.csv' does not exist", e.Message);
    }
}

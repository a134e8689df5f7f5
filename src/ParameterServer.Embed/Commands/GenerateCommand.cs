using System.CommandLine;
using System.Globalization;
using System.Text;
using ParameterServer.Core.Data;

namespace ParameterServer.Embed.Commands;

/// <summary><c>embed generate</c>: writes MovieLens-like synthetic ratings with planted factors to a CSV file.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var output = new Option<FileInfo>("--out") { Description = "Output CSV (userId,movieId,rating,timestamp with a header, like MovieLens).", Required = true };
        var users = new Option<int>("--users") { Description = "Users.", DefaultValueFactory = _ => 2000 };
        var items = new Option<int>("--items") { Description = "Items.", DefaultValueFactory = _ => 1000 };
        var count = new Option<int>("--ratings") { Description = "Ratings.", DefaultValueFactory = _ => 500_000 };
        var latent = new Option<int>("--latent-dim") { Description = "Dimension of the planted factors.", DefaultValueFactory = _ => 8 };
        var noise = new Option<float>("--noise") { Description = "Rating noise standard deviation (the RMSE floor).", DefaultValueFactory = _ => 0.5f };
        var seed = new Option<int>("--seed") { Description = "Seed: the same settings give the same file.", DefaultValueFactory = _ => 7 };
        var command = new Command("generate", "Write MovieLens-like synthetic ratings (y = 3.5 + b_u + b_i + u·v + noise, item vectors around planted groups) to a CSV that embed train reads.")
        {
            output, users, items, count, latent, noise, seed,
        };
        command.SetAction(async (p, ct) =>
        {
            var settings = new SyntheticSettings(p.GetValue(users), p.GetValue(items), p.GetValue(count), p.GetValue(latent), p.GetValue(noise), Clusters: 8, Seed: p.GetValue(seed));
            var data = SyntheticRatings.Generate(settings).Data;
            var path = p.GetValue(output)!.FullName;
            await using (var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 16))
            {
                await writer.WriteLineAsync("userId,movieId,rating,timestamp");
                var line = new StringBuilder();
                for (int i = 0; i < data.Count; i++)
                {
                    line.Clear().Append(CultureInfo.InvariantCulture, $"{data.Users[i]},{data.Items[i]},{data.Values[i]:R},{i}");
                    await writer.WriteLineAsync(line, ct);
                }
            }

            Console.WriteLine($"generate: {data.Count:N0} ratings ({settings.Users:N0} users x {settings.Items:N0} items, noise {settings.Noise.ToString(CultureInfo.InvariantCulture)}) written to {path}");
            return 0;
        });
        return command;
    }
}
